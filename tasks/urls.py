from django.urls import path

from tasks import views

app_name = "tasks"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("bulk/", views.bulk, name="bulk"),
    path("sla/", views.sla, name="sla"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/act/", views.task_act, name="act"),
    path("<int:pk>/assign/", views.task_assign, name="assign"),
    path("<int:pk>/comment/", views.task_comment, name="comment"),
]
