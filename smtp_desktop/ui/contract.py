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
