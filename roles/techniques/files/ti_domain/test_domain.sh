# Contact the test domain that Microsoft's threat intelligence flags on purpose (an EICAR-style test).
curl -s -m 10 -X POST "http://mdc-eicar.alerts.security.azure.com?SendingData" -o /dev/null
echo "request to mdc-eicar.alerts.security.azure.com sent: curl exit $?"
