from django.urls import path

from relief import views

app_name = "relief"
urlpatterns = [
    path("", views.home, name="home"),
    path("applications/new/", views.new_application, name="new"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("totals/", views.totals_page, name="totals"),
    path("totals.xlsx", views.totals_xlsx, name="totals-xlsx"),
    path("products/", views.products, name="products"),
]
