"""Routes of `facmon serve`."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path

from facmon.workorders import assessment_pages, pages, published_reports
from facmon.workorders.api import api

urlpatterns = [
    path("", lambda request: redirect("board"), name="home"),
    path("login/", pages.SignIn.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("orders/", pages.board, name="board"),
    path("orders/<int:order_id>/", pages.order_page, name="order"),
    path("orders/<int:order_id>/act/", pages.order_action, name="order-action"),
    path("requests/new/", pages.new_request, name="new-request"),
    path("l/<str:token>/", pages.deep_link, name="link"),
    path("f/<str:building>/<str:kind>/<path:target>/", pages.fault_order, name="fault-order"),
    path("assessment/", assessment_pages.assessment_page, name="assessment"),
    path("assessment/<str:period>/", assessment_pages.assessment_page, name="assessment-period"),
    path("inspections/new/", assessment_pages.new_inspection, name="new-inspection"),
    path("s/<str:token>/", assessment_pages.survey_page, name="survey"),
    path("r/<str:token>/<str:filename>", published_reports.published_report, name="published-report"),
    path("api/", api.urls),
]
