from django.urls import path

from assistance import views

app_name = "assistance"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.take_call, name="take_call"),
    path("counts/", views.counts, name="counts"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/start/", views.start, name="start"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/verify/", views.verify, name="verify"),
    path("<int:pk>/place/", views.place, name="place"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/photo/", views.photo, name="photo"),
]
