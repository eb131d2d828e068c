"""Admin building blocks: everything an owner sees is scoped to their own household."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Household, Member
from accounts.selectors import owner_household
from core.admin import ByteAmountField, human


class ScopedAdmin(admin.ModelAdmin):
    """A model admin that shows an owner only their own household's rows.

    ``household_path`` is the lookup from the model to its household. Superusers see
    every household. Owners get view (and, where the admin allows, add and change)
    permission on their household's rows without any Django permission of their own.
    """

    household_path = "household"
    owner_can_add = False
    owner_can_change = False
    list_per_page = 50

    def scope(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        household = owner_household(request)
        if household is None:
            return queryset.none()
        return queryset.filter(**{self.household_path: household.pk})

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def is_owner_or_superuser(self, request) -> bool:
        return request.user.is_superuser or owner_household(request) is not None

    def has_module_permission(self, request):
        return self.is_owner_or_superuser(request)

    def has_view_permission(self, request, obj=None):
        return self.is_owner_or_superuser(request)

    def has_add_permission(self, request, *args):
        return self.owner_can_add and self.is_owner_or_superuser(request)

    def has_change_permission(self, request, obj=None):
        return self.owner_can_change and self.is_owner_or_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return False  # nothing that moves bytes is deleted; corrections are new entries

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Choices of households, members and plans: the owner's own only."""
        household = None if request.user.is_superuser else owner_household(request)
        if household is not None:
            model = db_field.related_model
            if model is Household:
                kwargs["queryset"] = Household.objects.filter(pk=household.pk)
            elif hasattr(model, "household"):
                kwargs["queryset"] = model._default_manager.filter(household=household)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if not request.user.is_superuser:
            filters = [
                f
                for f in filters
                if f != "household" and f != ("household", admin.RelatedOnlyFieldListFilter)
            ]
        return filters


# What an owner edits of a member, on the household page and on the member's own.
MEMBER_FIELDS = [
    "username",
    "email",
    "display_name",
    "role",
    "monthly_cap_bytes",
    "cap_action",
    "active",
]


class MemberForm(forms.ModelForm):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    monthly_cap_bytes = ByteAmountField(label="Monthly cap", required=False)

    class Meta:
        model = Member
        fields = ["display_name", "role", "monthly_cap_bytes", "cap_action", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].initial = self.instance.user.username
            self.fields["username"].disabled = True
            self.fields["email"].initial = self.instance.user.email

    def clean_username(self):
        """A new member's username is checked here, so that a taken or invalid one is a
        form error rather than a refusal from ``create_member`` in the middle of a save."""
        username = self.cleaned_data["username"]
        if self.instance.pk:
            return username
        user_model = get_user_model()
        user_model._meta.get_field("username").run_validators(username)
        if user_model.objects.filter(username=username).exists():
            raise forms.ValidationError("is already taken")
        return username


class MemberFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        owners = [
            f
            for f in self.forms
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("role") == Member.Role.OWNER
            and f.cleaned_data.get("active")
        ]
        if len(owners) != 1:
            raise forms.ValidationError(
                f"A household has exactly one active owner; this would give it {len(owners)}."
            )


def save_members(request, household: Household, formset) -> None:
    """Write a members formset through the services: demotions first, so an owner
    swap in one save never has two owners at once."""
    forms_in_order = sorted(
        (f for f in formset.forms if f.has_changed() and f.cleaned_data),
        key=lambda f: (
            f.cleaned_data.get("role") == Member.Role.OWNER and f.cleaned_data.get("active")
        ),
    )
    # What ``formset.save()`` would have recorded, for the admin's change message.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in forms_in_order:
        data = form.cleaned_data
        fields = {
            "display_name": data["display_name"],
            "role": data["role"],
            "monthly_cap_bytes": data["monthly_cap_bytes"],
            "cap_action": data["cap_action"],
            "active": data["active"],
        }
        if form.instance.pk:
            member = services.update_member(form.instance, email=data.get("email") or "", **fields)
            formset.changed_objects.append((member, form.changed_data))
        else:
            member = services.create_member(
                household, username=data["username"], email=data.get("email") or "", **fields
            )
            formset.new_objects.append(member)


class MemberInline(admin.TabularInline):
    model = Member
    form = MemberForm
    formset = MemberFormSet
    extra = 1
    fields = MEMBER_FIELDS
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser or owner_household(request) is not None

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class StandaloneMemberForm(MemberForm):
    """On its own page a member cannot take or leave the owner's role: that needs two
    members changed at once, which the household page does."""

    def clean(self):
        data = super().clean()
        was_owner = self.instance.role == Member.Role.OWNER and self.instance.active
        is_owner = data.get("role") == Member.Role.OWNER and data.get("active")
        if was_owner != is_owner:
            raise forms.ValidationError(
                "Change the owner on the household page, where both members change at once."
            )
        return data


@admin.register(Member)
class MemberAdmin(ScopedAdmin):
    form = StandaloneMemberForm
    list_display = [
        "user",
        "display_name",
        "household",
        "role",
        "cap",
        "cap_action",
        "active",
        "has_password",
    ]
    list_filter = [("household", admin.RelatedOnlyFieldListFilter), "role", "cap_action", "active"]
    search_fields = ["user__username", "display_name", "user__email"]
    actions = ["send_invitations"]
    owner_can_change = True
    fields = MEMBER_FIELDS

    @admin.display(description="Monthly cap")
    def cap(self, member):
        return human(member.monthly_cap_bytes) if member.monthly_cap_bytes is not None else "—"

    @admin.display(boolean=True, description="Password set")
    def has_password(self, member):
        return member.user.has_usable_password()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "household")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.update_member(
            Member.objects.get(pk=obj.pk),
            email=data.get("email") or "",
            **{
                k: data[k]
                for k in ["display_name", "role", "monthly_cap_bytes", "cap_action", "active"]
            },
        )

    @admin.action(description="Send an invitation (a link to choose a password)")
    def send_invitations(self, request, queryset):
        base = request.build_absolute_uri("/").rstrip("/")
        for member in queryset.select_related("user", "household"):
            try:
                services.send_invitation(member, base_url=base)
                self.message_user(request, f"Invitation sent to {member.user.email}.")
            except ValidationError as error:
                self.message_user(request, f"{member}: {error.messages[0]}", messages.WARNING)
