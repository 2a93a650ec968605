def test_dbg(live_org):
    from django.db import connection
    assert False, (connection.settings_dict["NAME"], connection.settings_dict.get("TEST"))
