"""Forms of the campaign staff pages: planning a campaign, exempting a resident, uploading sites.
Choices and look-ups are always cut to what the user may see (core.scoping)."""

from __future__ import annotations

import csv
import io

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.choices import ExemptionReason
from campaigns.models import POOL_SIZES, Campaign, Exemption, Site
from campaigns.services import SITE_COLUMNS
from core.policy import policy
from core.scoping import jurisdiction_of, restrict
from geo.choices import DivisionLevel
from geo.models import Division
from people.identity import is_valid_id_number, normalise_id_number
from people.models import Resident

AREA_LIST_LIMIT = 300  # more divisions than this: the select keeps the upper levels, the code field the rest
SITES_FILE_MAX_BYTES = 2 * 1024 * 1024


class DateInput(forms.DateInput):
    """``type=date``: the phone's own date picker."""

    input_type = "date"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DivisionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Division) -> str:
        return f"{obj.name} · {obj.get_level_display()} ({obj.code})"


class PlanForm(forms.Form):
    """A new campaign over one division the user may see (services.do_plan)."""

    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits and hyphens, unique, e.g. wuhan-2020-05"),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    area = DivisionChoiceField(label=_("Area"), queryset=Division.objects.none(), required=False)
    area_code = forms.CharField(
        label=_("or division code"),
        max_length=15,
        required=False,
        help_text=_("Any division of your jurisdiction, a grid included."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    starts_on = forms.DateField(label=_("First day"), widget=DateInput())
    ends_on = forms.DateField(label=_("Last day"), widget=DateInput())
    pool_size = forms.TypedChoiceField(label=_("People per tube"), choices=POOL_SIZES, coerce=int)
    notice = forms.CharField(
        label=_("Notice to residents"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown with each compound's time and site once the notices are published."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.divisions = restrict(user, Division.objects.all())
        listed = self.divisions.exclude(level=DivisionLevel.GRID)
        if listed.count() > AREA_LIST_LIMIT:
            listed = listed.exclude(level=DivisionLevel.COMMUNITY)
        self.fields["area"].queryset = listed.order_by("code")
        if not self.is_bound:
            today = timezone.localdate()
            self.initial |= {"starts_on": today, "ends_on": today, "pool_size": int(policy().campaign_pool_size)}

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if Campaign.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A campaign with this code already exists."), code="taken")
        return code

    def clean(self) -> dict:
        data = super().clean()
        chosen = data.get("area")
        code = (data.get("area_code") or "").strip()
        if code:
            found = self.divisions.filter(code=code).first()
            if found is None:
                self.add_error("area_code", _("No division with this code in your jurisdiction."))
            elif chosen is not None and chosen.pk != found.pk:
                self.add_error("area_code", _("The division code and the area chosen differ."))
            else:
                data["area"] = found
        elif chosen is None:
            self.add_error("area", _("Choose the area, or give its division code."))
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The last day is before the first day."))
        return data


class ExemptionForm(forms.Form):
    """Exempt one resident of the campaign's area and the user's jurisdiction (services.do_exempt)."""

    id_number = forms.CharField(
        label=_("Identity number"),
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=ExemptionReason.choices)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("e.g. bedridden since a stroke, 3rd floor; a bedridden person gets a home-sampling task."),
    )

    def __init__(self, *args, campaign: Campaign, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        number = normalise_id_number(data.get("id_number"))
        if not number:
            return data
        if not is_valid_id_number(number):
            self.add_error("id_number", _("This identity number fails its check digit."))
            return data
        person = (
            restrict(self.user, Resident.objects.filter(id_number=number, merged_into__isnull=True))
            .select_related("building")
            .first()
        )
        if person is None:
            self.add_error("id_number", _("Nobody with this identity number lives in your jurisdiction."))
            return data
        campaign = self.campaign
        if campaign.scope_level != "city" and getattr(person, f"{campaign.scope_level}_id") != campaign.scope_id:
            self.add_error(
                "id_number",
                _("%(name)s does not live in the area of this campaign.") % {"name": person.masked_name},
            )
            return data
        earlier = Exemption.objects.filter(campaign=campaign, person=person).first()
        if earlier is not None:
            self.add_error(
                "id_number",
                _("%(name)s is already exempt from this campaign (%(reason)s).")
                % {"name": person.masked_name, "reason": earlier.get_reason_display()},
            )
            return data
        data["person"] = person
        return data


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise forms.ValidationError(_("The file is neither UTF-8 nor GBK text."), code="encoding")


class SitesUploadForm(forms.Form):
    """A CSV of sampling sites (services.import_sites). Besides the service's own checks the view adds
    :attr:`problems`: lines whose number of fields differs from the header's (:attr:`width_problems`)
    and, for a user without the whole city, sites of grids outside the jurisdiction. :attr:`text` pads
    short lines with empty fields so that the service reads them instead of failing on them."""

    file = forms.FileField(
        label=_("Sites file (CSV)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["file"].help_text = _("Columns: %(columns)s") % {"columns": ", ".join(SITE_COLUMNS)}
        self.text = ""
        self.problems: list[str] = []
        self.width_problems: list[str] = []

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > SITES_FILE_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."), code="size")
        text = _decode(upload.read())
        self.text, self.width_problems = padded(text)
        self.problems = [*self.width_problems, *jurisdiction_problems(self.text, self.user)]
        return upload


def padded(text: str) -> tuple[str, list[str]]:
    """The file with short lines padded to the header's width, and a problem for each line whose
    number of fields differs from the header's."""
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if row]  # as csv.DictReader counts
    if not rows:
        return text, []
    width = len(rows[0])
    problems = [
        _("Line %(line)d: %(found)d fields where the header has %(expected)d.")
        % {"line": line, "found": len(row), "expected": width}
        for line, row in enumerate(rows[1:], start=2)
        if len(row) != width
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(row + [""] * (width - len(row)) for row in rows)
    return out.getvalue(), problems


def jurisdiction_problems(text: str, user) -> list[str]:
    if jurisdiction_of(user).everything:
        return []
    rows = list(csv.DictReader(io.StringIO(text)))
    grids: QuerySet = restrict(user, Division.objects.filter(level=DivisionLevel.GRID))
    mine = set(grids.values_list("code", flat=True))
    codes = [(row.get("site_code") or "").strip() for row in rows]
    visible = set(restrict(user, Site.objects.filter(code__in=codes)).values_list("code", flat=True))
    taken = set(Site.objects.filter(code__in=codes).values_list("code", flat=True)) - visible
    problems = []
    for line, (row, code) in enumerate(zip(rows, codes, strict=True), start=2):
        grid = (row.get("grid_code") or "").strip()
        if grid not in mine:
            problems.append(
                _("Line %(line)d: grid %(grid)s is not in your jurisdiction.") % {"line": line, "grid": grid or "—"}
            )
        elif code in taken:
            problems.append(
                _("Line %(line)d: site %(code)s belongs to another jurisdiction.") % {"line": line, "code": code}
            )
    return problems
