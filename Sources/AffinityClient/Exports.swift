// `JSONValue` (an outcome's data) is part of this module's API: importing AffinityClient brings it,
// so a consumer needs no import of the module that defines it.
@_exported import HubBytes
