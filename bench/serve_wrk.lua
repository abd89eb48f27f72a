-- wrk script: POST one typical ticket (~430 bytes of JSON) to /v1/classify.
--   target/release/triage serve &
--   wrk -t2 -c32 -d10s --latency -s bench/serve_wrk.lua http://127.0.0.1:8080/v1/classify
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"subject":"Apache fails to start after update","description":"Hi team,\n\nsince last night's package update httpd on our RHEL 9 VM fails to start. systemctl status shows AH00526: Syntax error on line 42 of /etc/httpd/conf.d/ssl.conf. We did not change the config ourselves and this is not a security incident. The site is down for customers, please advise how to get it running again.\n\nThanks,\nMaria"}]]
