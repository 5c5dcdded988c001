# Lists the sync engine's connectors with the connectivity parameters that name
# the AD DS connector account (forest-login-user / forest-login-domain).
Import-Module ADSync
Get-ADSyncConnector | ForEach-Object {
    $params = [ordered]@{}
    foreach ($p in @($_.ConnectivityParameters)) {
        if ($p.Name -in @('forest-name', 'forest-login-user', 'forest-login-domain')) {
            $params[$p.Name] = [string]$p.Value
        }
    }
    [pscustomobject]@{
        Name                   = [string]$_.Name
        Identifier             = [string]$_.Identifier
        Type                   = [string]$_.Type
        ConnectorTypeName      = [string]$_.ConnectorTypeName
        Subtype                = [string]$_.Subtype
        ConnectivityParameters = [pscustomobject]$params
    }
}
