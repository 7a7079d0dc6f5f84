from django.urls import path

from renovation import views

app_name = "renovation"
urlpatterns = [
    path("", views.home, name="home"),
    path("candidates/", views.candidates, name="candidates"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("consultations/<int:pk>/minutes/", views.minutes, name="minutes"),
]
