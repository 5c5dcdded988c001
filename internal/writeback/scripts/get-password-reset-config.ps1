# Reads the password writeback (password reset) setting of one AAD connector.
Import-Module ADSync
$c = Get-ADSyncAADPasswordResetConfiguration -Connector ([string]$A.Connector)
[pscustomobject]@{
    Connector = [string]$A.Connector
    Enabled   = $c.Enabled
}
