from django.urls import path

from supplies import views

app_name = "supplies"
urlpatterns = [
    path("", views.depot_list, name="depots"),
    path("depots/<int:pk>/", views.depot_detail, name="depot"),
    path("depots/<int:pk>/ledger.xlsx", views.depot_ledger, name="depot-ledger"),
    path("stocks/<int:pk>/", views.stock_history, name="stock"),
]
