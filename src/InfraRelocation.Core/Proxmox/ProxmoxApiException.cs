using System.Net;

namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// An error answer from the Proxmox API. The message comes from the reason phrase, then the
/// <c>message</c> field, then the <c>errors</c> map; it never contains credentials.
/// </summary>
public sealed class ProxmoxApiException : RelocationException
{
    public ProxmoxApiException(string errorId, FailureKind kind, string message, HttpStatusCode statusCode,
        string apiMessage, IReadOnlyDictionary<string, string> errors, string target)
        : base(errorId, kind, message, target: target)
    {
        StatusCode = statusCode;
        ApiMessage = apiMessage;
        Errors = errors;
    }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The server's own message (trimmed), without our prefix.</summary>
    public string ApiMessage { get; }

    /// <summary>Parameter errors of a 400 answer (parameter → message).</summary>
    public IReadOnlyDictionary<string, string> Errors { get; }

    /// <summary>"VM is locked (...)" or "can't lock file ... got timeout": worth retrying later.</summary>
    public bool IsLockContention => IsLockMessage(ApiMessage);

    /// <summary>"VM is locked (…)" or "can't lock file … got timeout": an HTTP error or, since PVE 8, a task's exit status.</summary>
    public static bool IsLockMessage(string message) =>
        message.Contains("VM is locked", StringComparison.OrdinalIgnoreCase) ||
        (message.Contains("can't lock file", StringComparison.OrdinalIgnoreCase) && message.Contains("got timeout", StringComparison.OrdinalIgnoreCase));

    internal static ProxmoxApiException Create(HttpStatusCode status, string? reason, string? message,
        IReadOnlyDictionary<string, string> errors, string method, string path, string? tokenId)
    {
        var reasonText = FirstLine(reason);
        var bodyText = FirstLine(message);
        var text = reasonText.Length > 0 && !IsGenericReason(status, reasonText) ? reasonText
            : bodyText.Length > 0 ? bodyText
            : reasonText;
        if (errors.Count > 0)
        {
            var detail = string.Join("; ", errors.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}: {e.Value.Trim()}"));
            text = text.Length > 0 ? $"{text} {detail}" : detail;
        }
        if (text.Length == 0) text = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);

        var code = (int)status;
        var (id, kind) = code switch
        {
            401 => ("ProxmoxAuthenticationFailed", FailureKind.AuthenticationError),
            403 => ("ProxmoxPermissionDenied", FailureKind.PermissionDenied),
            400 => ("ProxmoxParameterInvalid", FailureKind.InvalidArgument),
            501 => ("ProxmoxNotImplemented", FailureKind.InvalidOperation),
            >= 595 and <= 599 => ("ProxmoxProxyFailed", FailureKind.ConnectionError),
            _ when text.Contains("does not exist", StringComparison.OrdinalIgnoreCase) ||
                   text.Contains("no such", StringComparison.OrdinalIgnoreCase) => ("ProxmoxObjectNotFound", FailureKind.ObjectNotFound),
            _ when text.Contains("VM is locked", StringComparison.OrdinalIgnoreCase) ||
                   text.Contains("can't lock file", StringComparison.OrdinalIgnoreCase) => ("ProxmoxResourceLocked", FailureKind.ResourceBusy),
            _ when code >= 500 => ("ProxmoxServerError", FailureKind.InvalidOperation),
            _ => ("ProxmoxRequestFailed", FailureKind.InvalidOperation),
        };
        var who = code == 401 && tokenId is not null ? $" (token {tokenId})" : "";
        return new ProxmoxApiException(id, kind, $"Proxmox {method} {path} failed with {code}{who}: {text}",
            status, text, errors, path);
    }

    private static bool IsGenericReason(HttpStatusCode status, string reason) =>
        string.Equals(reason, new HttpResponseMessage(status).ReasonPhrase, StringComparison.OrdinalIgnoreCase);

    private static string FirstLine(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return "";
        var t = s.Trim();
        var nl = t.IndexOf('\n');
        return (nl >= 0 ? t[..nl] : t).Trim();
    }
}
