from django.urls import path

from concerts import views

urlpatterns = [
    path("", views.concert_list, name="concert-list"),
    path("concerts/<int:concert_id>/", views.concert_detail, name="concert-detail"),
    path("concerts/<int:concert_id>/book/", views.book_dates, name="book-dates"),
    path("concerts/<int:concert_id>/book/<str:date>/", views.book_seats, name="book-seats"),
    path("concerts/<int:concert_id>/book/<str:date>/hold/", views.book_hold, name="book-hold"),
    path("reservations/<int:reservation_id>/release/", views.release, name="release"),
]
