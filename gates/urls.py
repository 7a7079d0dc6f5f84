"""Staff pages of gates and closed management, mounted at /gates/ (the gate app is gates.urls_app)."""

from django.urls import path

from gates import views

app_name = "gates"
urlpatterns = [
    path("", views.gate_list, name="list"),
    path("new/", views.gate_create, name="gate_create"),
    path("<int:pk>/", views.gate_detail, name="gate"),
    path("closures/", views.closure_list, name="closures"),
    path("closures/new/", views.closure_create, name="closure_create"),
    path("closures/<int:pk>/", views.closure_detail, name="closure"),
    path("closures/<int:pk>/lift/", views.closure_lift, name="closure_lift"),
    path("closures/<int:pk>/exit-approvals/", views.exit_request, name="exit_request"),
    path("closures/<int:pk>/supply-rounds/", views.supply_round_open, name="supply_round_open"),
    path("exit-approvals/<int:pk>/decide/", views.exit_decide, name="exit_decide"),
    path("supply-rounds/<int:pk>/", views.supply_round_detail, name="supply_round"),
    path("refused-records/", views.reject_list, name="rejects"),
]
