from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("people/<int:pk>/transition/", views.person_transition, name="transition"),
    path("people/<int:pk>/identify/", views.person_identify, name="identify"),
    path("decisions/", views.decisions, name="decisions"),
    path("conflicts/", views.conflicts, name="conflicts"),
    path("conflicts/<int:pk>/decide/", views.conflict_decide, name="conflict-decide"),
    path("follow-ups/", views.follow_ups, name="follow-ups"),
    path("follow-ups/<int:pk>/record/", views.follow_up_record, name="follow-up-record"),
]
