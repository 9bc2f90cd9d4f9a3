using System.Globalization;
using static InfraRelocation.Core.Gates.GateHelpers;
using static InfraRelocation.RelocationFinding;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// D36, exception hygiene. Checks the manifest's <c>exceptions[]</c> (the protocol) and the exception register
/// (the reference), when present. Expired = error; expiring within <see cref="GateOptions.WarningDays"/> =
/// warning; missing or malformed <c>expires_at</c> = error at its location (fail closed). A value without a
/// zone is read as UTC. No-op register entries (expiry 1970-01-01T00:00:00Z, or no allowed_paths) are skipped.
/// </summary>
public static class ExceptionHygieneGate
{
    private static readonly DateTimeOffset s_epoch = DateTimeOffset.UnixEpoch;

    public static GateResult Evaluate(EstateSnapshot estate, GateOptions? options = null)
    {
        options ??= GateOptions.Default;
        var now = options.Clock;
        var findings = new List<RelocationFinding>();
        var checkedCount = 0;
        if (estate.Manifest is { } manifest)
        {
            for (var i = 0; i < manifest.Exceptions.Count; i++)
            {
                checkedCount++;
                Check(manifest.Exceptions[i], $"exceptions[{i}]", isRegister: false, now, options.WarningDays, findings);
            }
        }
        if (estate.ExceptionRegister is { } register)
        {
            for (var i = 0; i < register.Exceptions.Count; i++)
            {
                checkedCount++;
                Check(register.Exceptions[i], $"exceptions[{i}]", isRegister: true, now, options.WarningDays, findings);
            }
        }
        return Result(GateIds.ExceptionHygiene, findings, $"{checkedCount} exception(s) at {now.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", checkedCount);
    }

    /// <summary>Parses an ISO-8601 expiry; a value without a zone is UTC. Null when unparseable.</summary>
    public static DateTimeOffset? ParseExpiry(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        return DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value) ? value : null;
    }

    private static void Check(ExceptionEntry entry, string path, bool isRegister, DateTimeOffset now, double warningDays, List<RelocationFinding> findings)
    {
        var label = string.IsNullOrEmpty(entry.Label) ? path : entry.Label;
        var at = entry.LocationOf("expires_at") ?? entry.Location;
        var text = entry.ExpiresAtText;
        var expiry = ParseExpiry(text);
        if (isRegister && (expiry == s_epoch || entry.AllowedPaths is null || entry.AllowedPaths.Count == 0))
        {
            return; // a no-op register entry grants nothing
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            findings.Add(Error("D36.ExpiryMissing", $"Exception {label} in {entry.File} has no expires_at; every exception must expire.",
                entry.Location, path + ".expires_at", label));
            return;
        }
        if (expiry is not { } expires)
        {
            findings.Add(Error("D36.ExpiryMalformed", $"Exception {label}: expires_at: {text} at {at} is not an ISO-8601 date-time.",
                at, path + ".expires_at", label, actual: text));
            return;
        }
        if (expires < now)
        {
            findings.Add(Error("D36.Expired",
                $"Exception {label} expired at {expires.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} ({at}); remove it or renew it with a new owner decision.",
                at, path + ".expires_at", label, expected: $"after {now.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", actual: text));
        }
        else if (expires - now <= TimeSpan.FromDays(warningDays))
        {
            findings.Add(Warning("D36.ExpiringSoon",
                $"Exception {label} expires at {expires.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} ({at}), within {warningDays.ToString(CultureInfo.InvariantCulture)} day(s).",
                at, path + ".expires_at", label, actual: text));
        }
    }
}
