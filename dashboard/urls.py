from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import views

# Requests Django refuses before any view runs (too large, unreadable): a page that says why.
handler400 = "dashboard.views.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's login view, with failed attempts rate-limited.
    path("login/", views.login, name="login"),
    # Django's LogoutView only accepts POST, so logging out needs a form, not a link.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    path("metrics/", views.metrics_view, name="metrics"),
    path("", views.overview, name="overview"),
    path("agents/", views.agents, name="agents"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.acknowledge_alert,
         name="acknowledge_alert"),
    path("wallboard/<str:token>/", views.wallboard, name="wallboard"),
    path("agents/<int:agent_id>/", views.agent_detail, name="agent"),
    path("agents/<int:agent_id>/status-form", views.agent_status_form,
         name="agent_status_form"),
    path("agents/<int:agent_id>/status", views.agent_status, name="agent_status"),
    path("agents/<int:agent_id>/suspend", views.agent_suspend, name="agent_suspend"),
    path("agents/<int:agent_id>/recording", views.agent_recording, name="agent_recording"),
    path("agents/<int:agent_id>/notify", views.agent_notify, name="agent_notify"),
    path("integrations/", views.integrations_page, name="integrations"),
    path("integrations/genesys/tile", views.genesys_tile, name="genesys_tile"),
    path("integrations/onecloud/tiles", views.onecloud_tiles, name="onecloud_tiles"),
    path("hooks/genesys/open-messaging", views.genesys_webhook, name="genesys_webhook"),
    path("crm/ccai/api/accounts", views.ccai_accounts, name="ccai_api_accounts"),
    path("crm/ccai/api/accounts/<int:account_id>", views.ccai_account, name="ccai_api_account"),
    path("crm/ccai/api/records", views.ccai_records, name="ccai_api_records"),
    path("crm/ccai/api/records/<int:record_id>", views.ccai_record, name="ccai_api_record"),
    path("crm/ccai/api/records/<int:record_id>/comments", views.ccai_comments,
         name="ccai_api_comments"),
    path("crm/ccai/api/records/<int:record_id>/attachments", views.ccai_attachments,
         name="ccai_api_attachments"),
    path("crm/ccai/api/records/<int:record_id>/attachments/<int:attachment_id>",
         views.ccai_attachment, name="ccai_attachment"),
    path("crm/ccai/lookup", views.ccai_lookup, name="ccai_lookup"),
    path("crm/ccai/oauth/authorize", views.ccai_oauth_authorize, name="ccai_oauth_authorize"),
    path("crm/ccai/oauth/token", views.ccai_oauth_token, name="ccai_oauth_token"),
    path("crm/ccai/accounts/<int:account_id>/", views.ccai_account_page, name="ccai_account"),
    path("crm/ccai/records/<int:record_id>/", views.ccai_record_page, name="ccai_record"),
    path("ccai/sessions/<str:kind>-<int:session_id>/", views.ccai_session_page,
         name="ccai_session"),
    path("sessions/<int:session_id>/notes", views.session_notes, name="session_notes"),
    path("sessions/<int:session_id>/disposition", views.session_disposition,
         name="session_disposition"),
    path("sessions/<int:session_id>/", views.session_detail, name="session"),
    path("sessions/<int:session_id>/transcript/", views.session_transcript,
         name="session_transcript"),
    path("search/", views.search_page, name="search"),
]
