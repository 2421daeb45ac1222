"""The staff console: sign-in, dashboard, compose and publish, corrections, delivery status,
accounts. Server-rendered; htmx enhances it, and the essentials work without JavaScript."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from console.web.staff import (
    admin,
    approvals,
    audit,
    autosave,
    channels,
    incident_details,
    incidents,
    media_upload,
    pins,
    resolution,
    rumors,
    second_factor,
    signin,
    templates,
    translations,
    updates,
)
from console.web.update_actions import UPDATE_ACTIONS


def routes() -> list[BaseRoute]:
    return [
        Route("/login", signin.login_form, methods=["GET"]),
        Route("/login", signin.login, methods=["POST"]),
        Route("/logout", signin.logout, methods=["POST"]),
        Route("/console/password", signin.password_form, methods=["GET"]),
        Route("/console/password", signin.change_password, methods=["POST"]),
        Route("/console/sessions/end-others", signin.end_other_sessions, methods=["POST"]),
        Route("/console/mfa", second_factor.second_factor_page, methods=["GET"]),
        Route("/console/mfa", second_factor.turn_on_second_factor, methods=["POST"]),
        Route("/console", incidents.dashboard, methods=["GET"]),
        Route("/console/pending/{pending_id:int}", approvals.pending_page, methods=["GET"]),
        Route("/console/pending/{pending_id:int}/approval", approvals.decide_view, methods=["POST"]),
        Route("/console/incidents", incidents.incident_list, methods=["GET"]),
        Route("/console/incidents", incidents.create_incident_view, methods=["POST"]),
        Route("/console/incidents/{slug}", incidents.incident_page, methods=["GET"]),
        Route("/console/incidents/{slug}/preview", incidents.compose_preview, methods=["POST"]),
        Route("/console/incidents/{slug}/updates", incidents.publish, methods=["POST"]),
        Route(media_upload.UPLOAD_PATH, media_upload.upload_image, methods=["POST"]),
        Route("/console/incidents/{slug}/autosave", autosave.save_compose, methods=["POST"]),
        Route("/console/incidents/{slug}/resolve", resolution.resolve, methods=["POST"]),
        Route("/console/incidents/{slug}/reopen", resolution.reopen, methods=["POST"]),
        Route("/console/incidents/{slug}/details", incident_details.change_details_view, methods=["POST"]),
        Route(
            "/console/incidents/{slug}/details/translations",
            incident_details.translate_details_view,
            methods=["POST"],
        ),
        Route("/console/incidents/{slug}/pin", pins.pin, methods=["POST"]),
        Route("/console/templates", templates.templates_screen, methods=["GET"]),
        Route("/console/templates", templates.create_template_view, methods=["POST"]),
        Route(
            "/console/templates/{template_id:int}/versions", templates.revise_template_view, methods=["POST"]
        ),
        Route(
            "/console/templates/{template_id:int}/delete", templates.delete_template_view, methods=["POST"]
        ),
        Route("/console/incidents/{slug}/deliveries", incidents.incident_deliveries, methods=["GET"]),
        Route("/console/updates/{update_id:int}", updates.update_page, methods=["GET"]),
        Route("/console/updates/{update_id:int}/preview", updates.correction_preview, methods=["POST"]),
        Route("/console/updates/{update_id:int}/autosave", autosave.save_correction, methods=["POST"]),
        Route("/console/autosaved/{form}/{target_id:int}/discard", autosave.discard, methods=["POST"]),
        *(
            Route(
                f"/console/updates/{{update_id:int}}/{path}",
                updates.change_endpoint(action),
                methods=["POST"],
            )
            for path, action in UPDATE_ACTIONS.items()
        ),
        Route("/console/updates/{update_id:int}/deliveries", updates.update_deliveries, methods=["GET"]),
        Route(
            "/console/updates/{update_id:int}/translations",
            translations.add_translation_view,
            methods=["POST"],
        ),
        Route("/console/deliveries/{delivery_id:int}/retry", updates.retry_delivery, methods=["POST"]),
        Route("/console/channels/{channel}/resume", channels.resume_channel, methods=["POST"]),
        Route("/console/rumors", rumors.rumors_screen, methods=["GET"]),
        Route("/console/rumors", rumors.publish_rumor_view, methods=["POST"]),
        Route("/console/rumors/{rumor_id:int}/corrections", rumors.correct_rumor_view, methods=["POST"]),
        Route("/console/audit", audit.audit_page, methods=["GET"]),
        Route("/console/audit.csv", audit.audit_csv, methods=["GET"]),
        Route("/console/admin", admin.admin_page, methods=["GET"]),
        Route("/console/admin/users", admin.create_user, methods=["POST"]),
        Route("/console/admin/users/{user_id:int}/disable", admin.disable_user, methods=["POST"]),
        Route("/console/admin/users/{user_id:int}/enable", admin.enable_user, methods=["POST"]),
        Route("/console/admin/users/{user_id:int}/role", admin.set_role, methods=["POST"]),
        Route("/console/admin/tokens", admin.create_token, methods=["POST"]),
        Route("/console/admin/tokens/{token_id:int}/revoke", admin.revoke_token, methods=["POST"]),
    ]
