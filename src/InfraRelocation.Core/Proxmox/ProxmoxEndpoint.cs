using System.Security.Cryptography.X509Certificates;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// Where a Proxmox VE API lives: a base URI such as https://pve1:8006 (a node, or a VIP in front of the cluster) and,
/// optionally, the pinned SHA-256 fingerprints of the certificate that URL presents (AA:BB:... as shown by
/// GET /nodes or pvenode cert info). Any one pin matching is enough, so an ACME renewal is rotated by listing the
/// old and the new fingerprint until the switch is done. Without pins, normal CA validation applies.
/// </summary>
public sealed record ProxmoxEndpoint
{
    public ProxmoxEndpoint(Uri baseUri, string? certificateFingerprint = null)
        : this(baseUri, certificateFingerprint is null ? [] : [certificateFingerprint])
    {
    }

    public ProxmoxEndpoint(Uri baseUri, IEnumerable<string> certificateFingerprints)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        if (!baseUri.IsAbsoluteUri || (baseUri.Scheme != Uri.UriSchemeHttps && baseUri.Scheme != Uri.UriSchemeHttp))
        {
            throw new RelocationException("ProxmoxEndpointInvalid", FailureKind.InvalidArgument,
                $"The Proxmox endpoint '{baseUri}' must be an absolute https:// URI.", target: baseUri);
        }
        BaseUri = new Uri(baseUri.GetLeftPart(UriPartial.Authority) + "/");
        var pins = new List<string>();
        foreach (var fingerprint in certificateFingerprints)
        {
            var normalised = NormaliseFingerprint(fingerprint);
            if (normalised.Length != 64 || !normalised.All(Uri.IsHexDigit))
            {
                throw new RelocationException("ProxmoxFingerprintInvalid", FailureKind.InvalidArgument,
                    $"The certificate fingerprint '{fingerprint}' is not a SHA-256 fingerprint (32 hex pairs).",
                    target: fingerprint);
            }
            pins.Add(FormatFingerprint(normalised));
        }
        CertificateFingerprints = pins;
    }

    /// <summary>Scheme, host and port only, with a trailing slash.</summary>
    public Uri BaseUri { get; }

    /// <summary>Pinned fingerprints in canonical form (upper-case, colon-separated); empty: CA validation.</summary>
    public IReadOnlyList<string> CertificateFingerprints { get; }

    /// <summary>Whether <paramref name="fingerprint"/> (any separator or case) is one of the pins.</summary>
    public bool IsPinned(string fingerprint) =>
        CertificateFingerprints.Any(pin => NormaliseFingerprint(pin) == NormaliseFingerprint(fingerprint));

    /// <summary>Upper-case hex without separators.</summary>
    public static string NormaliseFingerprint(string fingerprint) =>
        new string(fingerprint.Where(c => c != ':' && !char.IsWhiteSpace(c)).ToArray()).ToUpperInvariant();

    /// <summary>AA:BB:... from hex without separators.</summary>
    public static string FormatFingerprint(string hex) =>
        string.Join(':', Enumerable.Range(0, hex.Length / 2).Select(i => hex.Substring(i * 2, 2))).ToUpperInvariant();

    /// <summary>The SHA-256 fingerprint of a certificate over its DER bytes, AA:BB:... form.</summary>
    public static string FingerprintOf(X509Certificate2 certificate) =>
        FormatFingerprint(Digest.Sha256HexUpper(certificate.RawData));

    public override string ToString() =>
        CertificateFingerprints.Count == 0 ? BaseUri.ToString() : $"{BaseUri} (pinned {string.Join(" or ", CertificateFingerprints)})";
}

/// <summary>How the client authenticates.</summary>
public abstract record ProxmoxCredentials;

/// <summary>API token: <c>USER@REALM!TOKENID</c> plus its secret (a UUID).</summary>
public sealed record ProxmoxApiToken(string TokenId, ProxmoxSecret Secret) : ProxmoxCredentials
{
    /// <summary>Parses <c>USER@REALM!TOKENID=SECRET</c> (the form PVE prints when creating a token).</summary>
    public static ProxmoxApiToken Parse(string token)
    {
        var at = token.LastIndexOf('=');
        if (at <= 0 || at == token.Length - 1 || !token[..at].Contains('!') || !token[..at].Contains('@'))
        {
            throw new RelocationException("ProxmoxTokenInvalid", FailureKind.InvalidArgument,
                "The API token must have the form USER@REALM!TOKENID=SECRET.");
        }
        return new ProxmoxApiToken(token[..at], new ProxmoxSecret(token[(at + 1)..]));
    }
}

/// <summary>User name (<c>user@realm</c>) and password, exchanged for a ticket.</summary>
public sealed record ProxmoxPasswordCredentials(string Username, ProxmoxSecret Password) : ProxmoxCredentials;
