"""Django admin for the grid: divisions, compounds, buildings, venues and 包保 assignments."""

from django.contrib import admin

from geo.models import Assignment, Building, Compound, Division, Venue


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "district", "street", "community")


@admin.register(Compound)
class CompoundAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "grid", "property_managed", "built_year")
    search_fields = ("code", "name")
    raw_id_fields = ("grid", "district", "street", "community")


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "compound", "units", "floors")
    search_fields = ("code", "name")
    raw_id_fields = ("compound", "grid", "district", "street", "community")


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "grid")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    raw_id_fields = ("grid", "district", "street", "community")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "division", "compound", "building", "is_answerable", "starts_on", "ends_on")
    list_filter = ("role", "is_answerable")
    search_fields = ("user__username", "division__name", "compound__name", "building__code")
    raw_id_fields = ("division", "compound", "building")
