using System.Security.Cryptography;
using System.Text;

namespace InfraRelocation.Core.Hashing;

/// <summary>
/// The one place SHA-256 is computed and written out. Estate files, receipts, reports and journals name their
/// digests in lower-case hex; SSH keys in OpenSSH's <c>SHA256:</c> form. One helper keeps every digest comparable.
/// </summary>
public static class Digest
{
    /// <summary>SHA-256 of some bytes, lower-case hex (file digests, receipt hashes, report names).</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    /// <summary>SHA-256 of a text's UTF-8 bytes, lower-case hex (a receipt's JSON line).</summary>
    public static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));

    /// <summary>OpenSSH's fingerprint of a public key blob: <c>SHA256:</c> and unpadded base64.</summary>
    public static string OpenSshFingerprint(ReadOnlySpan<byte> keyBlob) =>
        "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    /// <summary>SHA-256 of some bytes, upper-case hex without separators (certificate fingerprints format it further).</summary>
    public static string Sha256HexUpper(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes));
}
