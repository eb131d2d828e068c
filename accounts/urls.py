from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [path("<int:pk>/invite/", views.invite, name="invite")]
