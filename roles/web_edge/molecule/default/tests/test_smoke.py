def test_nginx_config_is_valid(host):
    assert host.run("nginx -t").rc == 0
