from django.urls import path

from queue_app import views

urlpatterns = [
    path("concerts/<int:concert_id>/waiting-room/", views.waiting_room, name="waiting-room"),
    path("concerts/<int:concert_id>/waiting-room/enter/", views.enter, name="waiting-room-enter"),
]
