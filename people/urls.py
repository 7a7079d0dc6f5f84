from django.urls import path

from people import views

app_name = "people"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident-reveal"),
    path("ledgers/", views.ledgers, name="ledgers"),
    path("ledgers/<str:group>/", views.ledger, name="ledger"),
    path("review/", views.review_queue, name="review"),
    path("review/<int:pk>/decide/", views.review_decide, name="review-decide"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge-undo"),
]
