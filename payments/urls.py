from django.urls import path

from payments import views

urlpatterns = [
    path("reservations/<int:reservation_id>/pay/", views.pay, name="pay"),
    path("reservations/<int:reservation_id>/cancel/", views.cancel, name="cancel"),
]
