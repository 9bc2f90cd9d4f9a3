using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// Where a Proxmox VE API lives: a base URI such as https://pve1:8006 and, optionally, the pinned
/// SHA-256 fingerprint of the node's certificate (AA:BB:... as shown by GET /nodes or pvenode cert info).
/// </summary>
public sealed record ProxmoxEndpoint
{
    public ProxmoxEndpoint(Uri baseUri, string? certificateFingerprint = null)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        if (!baseUri.IsAbsoluteUri || (baseUri.Scheme != Uri.UriSchemeHttps && baseUri.Scheme != Uri.UriSchemeHttp))
        {
            throw new RelocationException("ProxmoxEndpointInvalid", FailureKind.InvalidArgument,
                $"The Proxmox endpoint '{baseUri}' must be an absolute https:// URI.", target: baseUri);
        }
        BaseUri = new Uri(baseUri.GetLeftPart(UriPartial.Authority) + "/");
        if (certificateFingerprint is not null)
        {
            var normalised = NormaliseFingerprint(certificateFingerprint);
            if (normalised.Length != 64 || !normalised.All(Uri.IsHexDigit))
            {
                throw new RelocationException("ProxmoxFingerprintInvalid", FailureKind.InvalidArgument,
                    $"The certificate fingerprint '{certificateFingerprint}' is not a SHA-256 fingerprint (32 hex pairs).",
                    target: certificateFingerprint);
            }
            CertificateFingerprint = FormatFingerprint(normalised);
        }
    }

    /// <summary>Scheme, host and port only, with a trailing slash.</summary>
    public Uri BaseUri { get; }

    /// <summary>Pinned fingerprint in canonical form (upper-case, colon-separated), or null.</summary>
    public string? CertificateFingerprint { get; }

    /// <summary>Upper-case hex without separators.</summary>
    public static string NormaliseFingerprint(string fingerprint) =>
        new string(fingerprint.Where(c => c != ':' && !char.IsWhiteSpace(c)).ToArray()).ToUpperInvariant();

    /// <summary>AA:BB:... from hex without separators.</summary>
    public static string FormatFingerprint(string hex) =>
        string.Join(':', Enumerable.Range(0, hex.Length / 2).Select(i => hex.Substring(i * 2, 2))).ToUpperInvariant();

    /// <summary>The SHA-256 fingerprint of a certificate over its DER bytes, AA:BB:... form.</summary>
    public static string FingerprintOf(X509Certificate2 certificate) =>
        FormatFingerprint(Convert.ToHexString(SHA256.HashData(certificate.RawData)));

    public override string ToString() =>
        CertificateFingerprint is null ? BaseUri.ToString() : $"{BaseUri} (pinned {CertificateFingerprint})";
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
