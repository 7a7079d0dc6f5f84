"""The sampler's page at a live site, mounted at /sample/."""

from django.urls import path

from campaigns import views_site

app_name = "sampling"
urlpatterns = [
    path("", views_site.site_list, name="list"),
    path("<str:code>/", views_site.site_page, name="site"),
    path("<str:code>/swab/", views_site.site_swab, name="swab"),
    path("<str:code>/tube/", views_site.site_tube, name="tube"),
    path("<str:code>/close/", views_site.site_close_tube, name="close"),
]
