from django.urls import path

from usage import views

app_name = "usage"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("usage/record/", views.record, name="record"),
    path("usage/", views.my_usage, name="my_usage"),
    path("history/", views.history, name="history"),
]
