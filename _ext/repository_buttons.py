"""Launch, repository and issue buttons only when ``repository.url`` of ``_config.yml`` is set.

``repository.url`` is the one place the book's repository URL lives (``tools.book.repository_url``
reads it for the chapters' install cells). Empty means unset: the pages then carry no button
that would point at a repository that does not exist (Jupyter Book itself refuses
``use_repository_button`` without a URL, so the buttons are turned on here, not in the YAML).
"""


def _buttons(app, config):
    options = config.html_theme_options
    if str(options.get("repository_url") or "").strip():
        for button in ("use_repository_button", "use_issues_button"):
            options[button] = True  # Jupyter Book passes False for every button not in _config.yml
    else:
        for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            options[button] = False
        options["launch_buttons"] = {}


def setup(app):
    app.connect("config-inited", _buttons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
