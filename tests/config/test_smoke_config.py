from smtp_desktop.config.model import Service, SmtpSettings


def test_fresh_settings_are_off_with_testsigma_and_the_seed_keys(config_service):
    result = config_service.load()
    assert result.settings == SmtpSettings()
    assert result.settings.service is Service.TESTSIGMA
    assert result.settings.keys_dict == {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}
