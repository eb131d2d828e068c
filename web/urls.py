"""The pages' URLs, under the names they have always had: ``usage:…`` for the pool's
pages and ``accounts:invite`` for the owner's invitations."""

from django.urls import include, path

from web import views

pool_pages = [
    path("", views.dashboard, name="dashboard"),
    path("usage/record/", views.record, name="record"),
    path("usage/", views.my_usage_page, name="my_usage"),
    path("history/", views.history, name="history"),
    path("preferences/", views.preferences, name="preferences"),
    path("notices/<int:pk>/dismiss/", views.dismiss_notice, name="dismiss_notice"),
]
member_pages = [path("<int:pk>/invite/", views.invite, name="invite")]

urlpatterns = [
    path("members/", include((member_pages, "accounts"))),
    path("", include((pool_pages, "usage"))),
]
