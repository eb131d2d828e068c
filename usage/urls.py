from django.urls import path

from usage import views

app_name = "usage"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("usage/record/", views.record, name="record"),
    path("usage/", views.my_usage, name="my_usage"),
    path("history/", views.history, name="history"),
    path("preferences/", views.preferences, name="preferences"),
    path("notices/<int:pk>/dismiss/", views.dismiss_notice, name="dismiss_notice"),
]
