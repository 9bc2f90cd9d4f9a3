using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Crypto.Utilities;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// A key the estate trusts to sign receipts (<c>receipts.signers</c> in <c>ops/infra-relocation.yaml</c>): a name and an
/// OpenSSH Ed25519 public key line (<c>ssh-ed25519 AAAA… comment</c>), as <c>ssh-keygen</c> writes it.
/// </summary>
public sealed record ReceiptSignerKey(string Name, string Fingerprint, Ed25519PublicKeyParameters Key)
{
    public SourceLocation? Location { get; init; }

    /// <summary>Parses an OpenSSH public key line; null with the reason when it is not an Ed25519 key.</summary>
    public static ReceiptSignerKey? Parse(string name, string line, out string? problem)
    {
        problem = null;
        var parts = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || parts[0] != "ssh-ed25519")
        {
            problem = "expected an OpenSSH Ed25519 public key line ('ssh-ed25519 AAAA… comment', as in ~/.ssh/id_ed25519.pub)";
            return null;
        }
        try
        {
            var blob = Convert.FromBase64String(parts[1]);
            if (OpenSshPublicKeyUtilities.ParsePublicKey(blob) is Ed25519PublicKeyParameters key)
            {
                return new ReceiptSignerKey(name, ReceiptSigner.FingerprintOf(blob), key);
            }
            problem = "the key is not an Ed25519 key";
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or IOException)
        {
            problem = $"the key's base64 blob cannot be read ({ex.Message})";
        }
        return null;
    }
}

/// <summary>How a ledger line is signed, judged against the estate's signer keys.</summary>
public enum ReceiptSignatureStatus
{
    /// <summary>The line carries no signature.</summary>
    Unsigned,
    /// <summary>Signed by a key the estate lists, and the signature matches the receipt's hash.</summary>
    Valid,
    /// <summary>Signed by a key the estate does not list.</summary>
    UnknownKey,
    /// <summary>The signature does not match the receipt's hash (the receipt or the signature was changed).</summary>
    Invalid,
}

/// <summary>
/// Signs receipts with the operator's OpenSSH Ed25519 private key (<c>$env:INFRA_RELOCATION_SIGNING_KEY</c>, an
/// unencrypted key file as <c>ssh-keygen -t ed25519 -N ''</c> writes it). The signature covers the receipt's hash,
/// which covers its text and its link, so a signed receipt can be neither edited nor moved nor made up without the key
/// (docs/design/ledger.md).
/// </summary>
public sealed class ReceiptSigner
{
    public const string KeyVariable = "INFRA_RELOCATION_SIGNING_KEY";

    private static readonly object s_cacheSync = new();
    private static (string Path, DateTime Written, ReceiptSigner Signer)? s_cache;

    private readonly Ed25519PrivateKeyParameters _key;

    private ReceiptSigner(Ed25519PrivateKeyParameters key)
    {
        _key = key;
        var blob = OpenSshPublicKeyUtilities.EncodePublicKey(key.GeneratePublicKey());
        Fingerprint = FingerprintOf(blob);
        PublicKey = "ssh-ed25519 " + Convert.ToBase64String(blob);
    }

    /// <summary><c>SHA256:…</c>, as <c>ssh-keygen -l</c> prints it.</summary>
    public string Fingerprint { get; }

    /// <summary>The public key line to list under <c>receipts.signers</c>.</summary>
    public string PublicKey { get; }

    /// <summary>Reads an OpenSSH Ed25519 private key file; <c>ReceiptSigningKeyInvalid</c> when it is not one.</summary>
    public static ReceiptSigner Load(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            const string Begin = "-----BEGIN OPENSSH PRIVATE KEY-----", End = "-----END OPENSSH PRIVATE KEY-----";
            var start = text.IndexOf(Begin, StringComparison.Ordinal);
            var end = text.IndexOf(End, StringComparison.Ordinal);
            if (start < 0 || end < start)
            {
                throw new FormatException("it is not an OpenSSH private key file");
            }
            var blob = Convert.FromBase64String(string.Concat(text[(start + Begin.Length)..end].Where(c => !char.IsWhiteSpace(c))));
            return OpenSshPrivateKeyUtilities.ParsePrivateKeyBlob(blob) is Ed25519PrivateKeyParameters key
                ? new ReceiptSigner(key)
                : throw new FormatException("it is not an Ed25519 key");
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or IOException
            or UnauthorizedAccessException or InvalidCastException or IndexOutOfRangeException)
        {
            // The message names the file, never its content.
            throw new RelocationException("ReceiptSigningKeyInvalid", FailureKind.InvalidData,
                $"The receipt signing key {path} (${KeyVariable}) cannot be used: {(ex is IOException or UnauthorizedAccessException ? ex.Message : "it must be an unencrypted OpenSSH Ed25519 private key (ssh-keygen -t ed25519 -N '')")}. " +
                "Nothing was changed.", null, path, ex);
        }
    }

    /// <summary>The signer named by <c>$env:INFRA_RELOCATION_SIGNING_KEY</c>; null when it is not set.</summary>
    public static ReceiptSigner? FromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(KeyVariable) is not { Length: > 0 } path)
        {
            return null;
        }
        var full = Path.GetFullPath(path);
        var written = File.Exists(full) ? File.GetLastWriteTimeUtc(full) : DateTime.MinValue;
        lock (s_cacheSync)
        {
            if (s_cache is { } cached && cached.Path == full && cached.Written == written)
            {
                return cached.Signer;
            }
        }
        var signer = Load(full);
        lock (s_cacheSync)
        {
            s_cache = (full, written, signer);
        }
        return signer;
    }

    /// <summary>The signature (base64) of a receipt's hash.</summary>
    public string Sign(string hash)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _key);
        var message = Message(hash);
        signer.BlockUpdate(message, 0, message.Length);
        return Convert.ToBase64String(signer.GenerateSignature());
    }

    /// <summary>Judges a line's signature (<paramref name="fingerprint"/>, <paramref name="signature"/>) against the estate's keys.</summary>
    public static (ReceiptSignatureStatus Status, ReceiptSignerKey? Key) Check(string hash, string? fingerprint, string? signature,
        IReadOnlyList<ReceiptSignerKey> keys)
    {
        if (fingerprint is null || signature is null)
        {
            return (ReceiptSignatureStatus.Unsigned, null);
        }
        var key = keys.FirstOrDefault(k => k.Fingerprint == fingerprint);
        if (key is null)
        {
            return (ReceiptSignatureStatus.UnknownKey, null);
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(signature);
        }
        catch (FormatException)
        {
            return (ReceiptSignatureStatus.Invalid, key);
        }
        var verifier = new Ed25519Signer();
        verifier.Init(false, key.Key);
        var message = Message(hash);
        verifier.BlockUpdate(message, 0, message.Length);
        return (verifier.VerifySignature(bytes) ? ReceiptSignatureStatus.Valid : ReceiptSignatureStatus.Invalid, key);
    }

    /// <summary>A status in words, for messages ("unsigned", "signed by a key the estate does not list", …).</summary>
    public static string Describe(ReceiptSignatureStatus status) => status switch
    {
        ReceiptSignatureStatus.Valid => "signed by a listed key",
        ReceiptSignatureStatus.UnknownKey => "signed by a key receipts.signers does not list",
        ReceiptSignatureStatus.Invalid => "signed, but its signature does not match it (the receipt or the signature was changed)",
        _ => "unsigned",
    };

    public static string FingerprintOf(byte[] publicKeyBlob) =>
        Digest.OpenSshFingerprint(publicKeyBlob);

    // Domain-separated: a receipt signature is never valid as anything else.
    private static byte[] Message(string hash) => Encoding.UTF8.GetBytes("infrarelocation-receipt-v1 " + hash);
}
