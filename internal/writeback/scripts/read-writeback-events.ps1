# Reads the Application log entries that tell whether writeback works:
# PasswordResetService (all ids) and ADSync 6329, since a given time.
$since = [datetime]::Parse([string]$A.Since, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind)
$filters = @(
    @{ LogName = 'Application'; ProviderName = 'PasswordResetService'; StartTime = $since },
    @{ LogName = 'Application'; ProviderName = 'ADSync'; Id = 6329; StartTime = $since }
)
foreach ($f in $filters) {
    $found = @()
    try {
        $found = @(Get-WinEvent -FilterHashtable $f -MaxEvents 500)
    } catch {
        # No events or no such provider on this host is an empty answer, not a failure.
        if ([string]$_.FullyQualifiedErrorId -notlike 'NoMatching*') { throw }
    }
    foreach ($e in $found) {
        [pscustomobject]@{
            Id           = $e.Id
            ProviderName = [string]$e.ProviderName
            TimeCreated  = $e.TimeCreated.ToUniversalTime().ToString('o')
            Level        = [string]$e.LevelDisplayName
            Message      = [string]$e.Message
        }
    }
}
