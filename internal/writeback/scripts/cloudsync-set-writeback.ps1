# Turns Cloud Sync password writeback on or off with the tenant admin
# credential from the agent's configuration.
$mod = Join-Path $env:ProgramFiles 'Microsoft Azure AD Connect Provisioning Agent\Microsoft.CloudSync.PowerShell.dll'
if (-not (Test-Path -LiteralPath $mod)) {
    Write-Error -ErrorId 'SSPRFLOW_ModuleNotFound' -Category ObjectNotFound -Message "Cloud Sync PowerShell module not found at $mod (install provisioning agent 1.1.977.0 or later)"
}
Import-Module $mod
$enable = [bool]::Parse([string]$A.Enable)
$secret = ConvertTo-SecureString -String ([string]$A.Password) -AsPlainText -Force
$cred = New-Object System.Management.Automation.PSCredential -ArgumentList ([string]$A.User), $secret
Set-AADCloudSyncPasswordWritebackConfiguration -Enable $enable -Credential $cred | Out-Null
[pscustomobject]@{ Known = $true; Enabled = $enable }
