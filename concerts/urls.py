from django.urls import path

from concerts import views

urlpatterns = [
    path("", views.concert_list, name="concert-list"),
    path("concerts/<int:concert_id>/", views.concert_detail, name="concert-detail"),
]
