from django.urls import path

from payments import views

urlpatterns = [
    path("reservations/", views.my_tickets, name="my-tickets"),
    path("reservations/<int:reservation_id>/checkout/", views.checkout, name="checkout"),
    path("reservations/<int:reservation_id>/pay/", views.pay, name="pay"),
    path("reservations/<int:reservation_id>/cancel/", views.cancel, name="cancel"),
]
