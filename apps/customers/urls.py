from django.urls import path

from apps.customers import views

urlpatterns = [
    path("settings/customers/<str:external_id>/", views.customer_detail, name="settings_customer"),
]
