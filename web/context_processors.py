def membership(request):
    """The signed-in member, as the views found it (no query of its own)."""
    return {"current_member": getattr(request, "member", None)}
