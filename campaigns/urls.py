"""Staff pages of testing campaigns, mounted at /campaigns/."""

from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("<slug:code>/", views.campaign_detail, name="detail"),
    path("<slug:code>/start/", views.campaign_start, name="start"),
    path("<slug:code>/close/", views.campaign_close, name="close"),
    path("<slug:code>/door-to-door/", views.door_to_door, name="door_to_door"),
    path("<slug:code>/sites/", views.sites, name="sites"),
    path("<slug:code>/sites/upload/", views.sites_upload, name="sites_upload"),
    path("<slug:code>/sites/assign/", views.assign, name="assign"),
    path("<slug:code>/sites/publish/", views.publish, name="publish"),
    path("<slug:code>/exemptions/", views.exemptions, name="exemptions"),
    path("<slug:code>/tubes/", views.tubes, name="tubes"),
    path("<slug:code>/tubes/<str:tube_code>/", views.tube_detail, name="tube"),
    path("<slug:code>/untested/", views.untested, name="untested"),
    path("<slug:code>/export/grid/<int:grid_id>.xlsx", views.export_grid, name="export_grid"),
]
