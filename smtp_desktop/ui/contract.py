"""The objectNames QA suites script against: a public contract, extended but never renamed."""

OBJECT_NAMES: tuple[str, ...] = (
    # the seed's settings page
    "smtpEnabledToggle", "smtpOffNote", "serviceTestsigmaRadio", "serviceOwnRadio",
    "defaultServiceLabel", "hostEdit", "portSpin", "usernameEdit", "passwordEdit",
    "forgetPasswordButton", "keysTable", "addKeyButton", "removeKeyButton", "saveButton",
    "revertButton", "helpPane", "statusLabel", "ownServerBox",
    # field messages and notices
    "hostError", "portError", "usernameError", "keysError", "passwordNote", "keyringWarning",
    "showPasswordButton", "loadNotice", "environmentWarning",
    # test send and probe
    "testRecipientEdit", "testSenderEdit", "sendTestButton", "probeButton", "cancelTestButton",
    "testBusyIndicator", "testResultView", "transcriptToggle", "transcriptView",
    "copyTranscriptButton",
    # presets, keys, consistency
    "presetCombo", "regionCombo", "presetInfoLabel", "presetOfferLabel", "presetOfferButton",
    "pasteKeysButton", "consistencyWarning", "consistencyFixButton", "securitySummaryLabel",
    "unencryptedLoginWarning",
    # outbox and history
    "sideTabs", "outboxView", "outboxMessageView", "outboxRefreshButton", "outboxDeleteButton",
    "outboxSaveButton", "outboxMoreButton", "historyView",
    # the Outbox tab as a viewer, fault rehearsal and limits (issue 16)
    "outboxMessageTabs", "outboxHtmlView", "outboxLinksView", "outboxCodesView",
    "outboxCopyLinkButton", "outboxCopyCodeButton", "outboxFaultCombo", "outboxFaultNote",
    "outboxLimitsButton",
    # OAuth2 sign-in (issue 14)
    "authMethodCombo", "oauthProviderCombo", "oauthClientIdEdit", "oauthTenantEdit",
    "oauthSignInButton", "oauthCancelButton", "oauthSignOutButton", "oauthAccountLabel",
)

# Dialogs the window opens: their objectNames exist while the dialog does, not in the window.
DIALOG_OBJECT_NAMES: tuple[str, ...] = (
    # outbox limits dialog (issue 16); one spin box per limit of outbox.json, sizes with a unit box
    "outboxLimitsDialog", "outboxLimitsError", "outboxLimitsNote", "outboxLimitsSaveButton",
    "outboxLimitsCancelButton", "outboxLimitsDefaultsButton",
    "outboxLimitMaxMessageSize", "outboxLimitMaxMessageSizeUnit", "outboxLimitMaxLineLength",
    "outboxLimitMaxLineLengthUnit", "outboxLimitMaxRecipients", "outboxLimitMaxConnections",
    "outboxLimitMaxConnectionsPerClient", "outboxLimitIdleTimeout", "outboxLimitMaxMessages",
    "outboxLimitMaxBytes", "outboxLimitMaxBytesUnit",
)
