from django.urls import path

from tracing import views

app_name = "tracing"
urlpatterns = [
    path("", views.containment_list, name="list"),
    path("chains/", views.chain, name="chains"),
    path("<int:pk>/", views.containment_detail, name="detail"),
    path("<int:pk>/retrace/", views.containment_retrace, name="retrace"),
    path("<int:pk>/decide/", views.contact_decide, name="decide"),
    path("<int:pk>/chain/", views.chain, name="chain"),
]
