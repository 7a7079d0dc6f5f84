from django.urls import path

from reopening import views

app_name = "reopening"
urlpatterns = [
    path("", views.home, name="home"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/apply/", views.unit_apply, name="unit-apply"),
    path("units/<int:pk>/staff/", views.unit_staff, name="unit-staff"),
    path("units/<int:pk>/contacts/", views.unit_contact, name="unit-contact"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/withdraw/", views.application_withdraw, name="application-withdraw"),
    path("applications/<int:pk>/inspect/", views.inspection, name="inspect"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("rates/", views.rates, name="rates"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:pk>/decide/", views.review_decide, name="review-decide"),
]
