"""Property: any interleaving of publish/correct/confirm/retract (including stale corrections
and invalid actions) keeps every version retrievable, sequence numbers gap-free and the
audit chain valid; a conflict is raised exactly when the named version is stale."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from console.db import Database
from console.domain.audit import verify_chain
from console.domain.errors import InvalidInput, NotAllowed, VersionConflict
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.text import VISIBLE
from console.domain.updates import Draft, confirm_update, correct_update, publish_update, retract_update
from console.models import Incident, Update, UpdateVersion
from tests.conftest import PIO

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(VISIBLE.search)  # text of white space and invisible characters only is blank


@dataclass
class ModelUpdate:
    incident: str
    versions: list[str] = field(default_factory=list)  # body of each version
    preliminary: bool = True
    retracted: bool = False


def run_machine(db: Database, routing: Routing) -> None:
    class Interleavings(RuleBasedStateMachine):
        updates = Bundle("updates")

        @initialize()
        def incidents(self) -> None:
            self.model: dict[int, ModelUpdate] = {}
            self.slugs: list[str] = []
            with db.write() as session:
                for title in ("Flood", "Fire"):
                    incident, _ = create_incident(session, PIO, IncidentDraft(title=title), routing=routing)
                    self.slugs.append(incident.slug)

        @rule(target=updates, which=st.integers(0, 1), body=texts, preliminary=st.booleans())
        def publish(self, which: int, body: str, preliminary: bool) -> int:
            slug = self.slugs[which]
            with db.write() as session:
                update_id = publish_update(
                    session, PIO, slug, Draft(body=body, preliminary=preliminary), routing=routing
                ).update.id
            self.model[update_id] = ModelUpdate(slug, [body.strip()], preliminary)
            return update_id

        @rule(update_id=updates, body=texts, stale=st.booleans())
        def correct(self, update_id: int, body: str, stale: bool) -> None:
            model = self.model[update_id]
            named = len(model.versions) - 1 if stale and len(model.versions) > 1 else len(model.versions)
            text = (body + " (corrected)").strip()
            try:
                with db.write() as session:
                    correct_update(
                        session,
                        PIO,
                        update_id,
                        Draft(body=text),
                        reason="fix",
                        corrects_version=named,
                        routing=routing,
                    )
            except VersionConflict as conflict:
                assert named != len(model.versions) and not model.retracted
                assert conflict.current["version"] == len(model.versions)
                return
            except NotAllowed:
                assert model.retracted
                return
            except InvalidInput:  # a correction must change something
                assert text == model.versions[-1] and named == len(model.versions)
                return
            assert named == len(model.versions) and not model.retracted and text != model.versions[-1]
            model.versions.append(text)

        @rule(update_id=updates)
        def confirm(self, update_id: int) -> None:
            model = self.model[update_id]
            try:
                with db.write() as session:
                    confirm_update(
                        session, PIO, update_id, corrects_version=len(model.versions), routing=routing
                    )
            except NotAllowed:
                assert model.retracted or not model.preliminary
                return
            assert not model.retracted and model.preliminary
            model.versions.append(model.versions[-1])
            model.preliminary = False

        @rule(update_id=updates)
        def retract(self, update_id: int) -> None:
            model = self.model[update_id]
            try:
                with db.write() as session:
                    retract_update(session, PIO, update_id, reason="withdrawn", routing=routing)
            except NotAllowed:
                assert model.retracted
                return
            model.versions.append(model.versions[-1])
            model.retracted = True

        @invariant()
        def every_version_is_retrievable_and_numbered_without_gaps(self) -> None:
            with db.read() as session:
                for update_id, model in self.model.items():
                    versions = list(
                        session.scalars(
                            select(UpdateVersion)
                            .where(UpdateVersion.update_id == update_id)
                            .order_by(UpdateVersion.version)
                        )
                    )
                    assert [v.version for v in versions] == list(range(1, len(model.versions) + 1))
                    assert [v.body for v in versions] == model.versions
                for slug in self.slugs:
                    seqs = list(
                        session.scalars(
                            select(Update.seq)
                            .join(Incident)
                            .where(Incident.slug == slug)
                            .order_by(Update.seq)
                        )
                    )
                    assert seqs == list(range(1, len(seqs) + 1))

        def teardown(self) -> None:
            with db.read() as session:
                report = verify_chain(session)
            assert report.ok, report.describe()

    run_state_machine_as_test(
        Interleavings,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_any_interleaving_keeps_the_record_whole(db: Database, routing: Routing) -> None:
    run_machine(db, routing)
