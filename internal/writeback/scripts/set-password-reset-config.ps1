# Turns password writeback on or off for one AAD connector, then reads it back.
Import-Module ADSync
$enable = [bool]::Parse([string]$A.Enable)
Set-ADSyncAADPasswordResetConfiguration -Connector ([string]$A.Connector) -Enable $enable | Out-Null
$c = Get-ADSyncAADPasswordResetConfiguration -Connector ([string]$A.Connector)
[pscustomobject]@{
    Connector = [string]$A.Connector
    Enabled   = $c.Enabled
}
