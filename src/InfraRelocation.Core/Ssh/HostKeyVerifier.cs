using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Ssh;

/// <summary>The verdict on a host key presented by a server.</summary>
public enum HostKeyVerdict { Trusted, TrustedOnFirstUse, Unknown, Mismatch, Revoked }

/// <param name="Presented">Fingerprint of the presented key, <c>SHA256:…</c>.</param>
/// <param name="Expected">Fingerprints pinned or recorded for the host (empty when unknown).</param>
public sealed record HostKeyCheck(HostKeyVerdict Verdict, string KeyType, string Presented, IReadOnlyList<string> Expected)
{
    public bool IsTrusted => Verdict is HostKeyVerdict.Trusted or HostKeyVerdict.TrustedOnFirstUse;

    /// <summary>The refusal as a RelocationException (SecurityError), or null when trusted.</summary>
    public RelocationException? ToException(SshEndpoint ep)
    {
        var expected = Expected.Count == 0 ? "none" : string.Join(", ", Expected);
        return Verdict switch
        {
            HostKeyVerdict.Unknown => new("SshHostKeyUnknown", FailureKind.SecurityError,
                $"Host key of {ep} is not pinned and not in a known_hosts file; refusing to connect. " +
                $"Presented {KeyType} key {Presented}. Pin it after checking it out of band, or allow trust-on-first-use.", target: ep.Id),
            HostKeyVerdict.Mismatch => new("SshHostKeyMismatch", FailureKind.SecurityError,
                $"Host key of {ep} has CHANGED or is not the pinned one; refusing to connect. " +
                $"Presented {KeyType} key {Presented}; expected {expected}.", target: ep.Id),
            HostKeyVerdict.Revoked => new("SshHostKeyMismatch", FailureKind.SecurityError,
                $"Host key of {ep} is marked @revoked in {ep.KnownHostsFile}; refusing to connect. Presented {KeyType} key {Presented}.", target: ep.Id),
            _ => null,
        };
    }
}

/// <summary>
/// Checks a presented host key against an endpoint's pinned fingerprints and known_hosts file.
/// Thread-safe (trust-on-first-use appends under a lock).
/// </summary>
public static class HostKeyVerifier
{
    private static readonly object AppendLock = new();

    /// <summary>OpenSSH fingerprint of a public key blob: <c>SHA256:</c> + unpadded base64.</summary>
    public static string Fingerprint(byte[] keyBlob) => Digest.OpenSshFingerprint(keyBlob);

    /// <summary>Normalises a user-given fingerprint (trims, strips base64 padding); fails on other formats.</summary>
    public static string NormalizeFingerprint(string fingerprint, string endpointId)
    {
        var f = fingerprint.Trim().TrimEnd('=');
        if (!f.StartsWith("SHA256:", StringComparison.Ordinal) || f.Length < 20)
            throw new RelocationException("SshHostKeyPinInvalid", FailureKind.InvalidArgument,
                $"Pinned host key '{fingerprint}' of {endpointId} is not an OpenSSH SHA256 fingerprint (SHA256:base64).", target: endpointId);
        return f;
    }

    /// <summary>The key type named inside an SSH public key blob (e.g. <c>ssh-rsa</c> even when signed with rsa-sha2-512).</summary>
    public static string KeyTypeOf(byte[] keyBlob, string fallback)
    {
        if (keyBlob.Length < 4) return fallback;
        var len = (keyBlob[0] << 24) | (keyBlob[1] << 16) | (keyBlob[2] << 8) | keyBlob[3];
        return len is > 0 and < 64 && keyBlob.Length >= 4 + len ? Encoding.ASCII.GetString(keyBlob, 4, len) : fallback;
    }

    /// <summary>Key types recorded for the endpoint in its known_hosts file (to negotiate one of them, as OpenSSH does).</summary>
    public static IReadOnlySet<string> KnownKeyTypes(SshEndpoint ep) =>
        ep.KnownHostsFile is { } file && File.Exists(file)
            ? KnownHostsEntry.ReadAll(file).Where(e => e.Marker is null && e.Matches(ep.KnownHostsName)).Select(e => e.KeyType).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>();

    public static HostKeyCheck Check(SshEndpoint ep, string hostKeyAlgorithm, byte[] keyBlob)
    {
        var keyType = KeyTypeOf(keyBlob, hostKeyAlgorithm);
        var presented = Fingerprint(keyBlob);
        var expected = new List<string>();
        foreach (var pin in ep.PinnedHostKeys)
        {
            var f = NormalizeFingerprint(pin, ep.Id);
            if (f == presented) return new(HostKeyVerdict.Trusted, keyType, presented, [f]);
            expected.Add(f);
        }

        if (ep.KnownHostsFile is { } file && File.Exists(file))
        {
            foreach (var e in KnownHostsEntry.ReadAll(file).Where(e => e.Matches(ep.KnownHostsName)))
            {
                var f = Fingerprint(e.KeyBlob);
                if (e.Marker == "@revoked")
                {
                    if (f == presented) return new(HostKeyVerdict.Revoked, keyType, presented, expected);
                    continue;
                }
                if (e.Marker is not null) continue; // @cert-authority: certificates are not supported
                if (f == presented) return new(HostKeyVerdict.Trusted, keyType, presented, [f]);
                expected.Add($"{f} ({e.KeyType})");
            }
        }

        if (expected.Count > 0) return new(HostKeyVerdict.Mismatch, keyType, presented, expected);
        if (ep.TrustOnFirstUse && ep.KnownHostsFile is { } tofuFile)
        {
            Record(tofuFile, ep.KnownHostsName, keyType, keyBlob);
            return new(HostKeyVerdict.TrustedOnFirstUse, keyType, presented, []);
        }
        return new(HostKeyVerdict.Unknown, keyType, presented, []);
    }

    /// <summary>Appends a plain known_hosts line (directory created 0700, file 0600 when new).</summary>
    public static void Record(string knownHostsFile, string hostName, string keyType, byte[] keyBlob)
    {
        lock (AppendLock)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(knownHostsFile))!;
            if (!Directory.Exists(dir))
            {
                Directory.CreateDirectory(dir);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var isNew = !File.Exists(knownHostsFile);
            var prefix = !isNew && new FileInfo(knownHostsFile).Length > 0 && !File.ReadAllText(knownHostsFile).EndsWith('\n') ? "\n" : "";
            File.AppendAllText(knownHostsFile, $"{prefix}{hostName} {keyType} {Convert.ToBase64String(keyBlob)}\n");
            if (isNew && !OperatingSystem.IsWindows()) File.SetUnixFileMode(knownHostsFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}

/// <summary>One line of an OpenSSH known_hosts file.</summary>
public sealed record KnownHostsEntry(string? Marker, string HostPatterns, string KeyType, byte[] KeyBlob)
{
    public static IEnumerable<KnownHostsEntry> ReadAll(string file)
    {
        foreach (var raw in File.ReadLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            string? marker = parts[0].StartsWith('@') ? parts[0] : null;
            var i = marker is null ? 0 : 1;
            if (parts.Length < i + 3) continue;
            byte[] blob;
            try { blob = Convert.FromBase64String(parts[i + 2]); }
            catch (FormatException) { continue; }
            yield return new KnownHostsEntry(marker, parts[i], parts[i + 1], blob);
        }
    }

    /// <summary>Whether this entry names <paramref name="hostName"/> (plain, wildcard, negated or hashed patterns).</summary>
    public bool Matches(string hostName)
    {
        if (HostPatterns.StartsWith("|1|", StringComparison.Ordinal)) return HashedMatches(HostPatterns, hostName);
        var matched = false;
        foreach (var p in HostPatterns.Split(','))
        {
            var negated = p.StartsWith('!');
            var pattern = negated ? p[1..] : p;
            if (!Glob(pattern, hostName)) continue;
            if (negated) return false;
            matched = true;
        }
        return matched;
    }

    private static bool Glob(string pattern, string name) =>
        Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
            RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));

    private static bool HashedMatches(string hashed, string hostName)
    {
        var bits = hashed.Split('|'); // "", "1", salt, hash
        if (bits.Length != 4) return false;
        try
        {
            var salt = Convert.FromBase64String(bits[2]);
            var hash = HMACSHA1.HashData(salt, Encoding.ASCII.GetBytes(hostName.ToLowerInvariant()));
            return CryptographicOperations.FixedTimeEquals(hash, Convert.FromBase64String(bits[3]));
        }
        catch (FormatException) { return false; }
    }
}
