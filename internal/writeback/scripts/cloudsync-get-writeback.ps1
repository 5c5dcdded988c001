# Reads Cloud Sync's password writeback state when the agent's module offers a
# reader; Known = $false otherwise.
$mod = Join-Path $env:ProgramFiles 'Microsoft Azure AD Connect Provisioning Agent\Microsoft.CloudSync.PowerShell.dll'
if (-not (Test-Path -LiteralPath $mod)) {
    Write-Error -ErrorId 'SSPRFLOW_ModuleNotFound' -Category ObjectNotFound -Message "Cloud Sync PowerShell module not found at $mod (install provisioning agent 1.1.977.0 or later)"
}
Import-Module $mod
if (-not (Get-Command Get-AADCloudSyncPasswordWritebackConfiguration -ErrorAction SilentlyContinue)) {
    [pscustomobject]@{ Known = $false; Enabled = $false }
} else {
    $c = Get-AADCloudSyncPasswordWritebackConfiguration
    $enabled = if ($c -is [bool]) { $c } elseif ($null -ne $c.Enabled) { $c.Enabled } else { $c.IsEnabled }
    [pscustomobject]@{ Known = ($null -ne $enabled); Enabled = $enabled }
}
