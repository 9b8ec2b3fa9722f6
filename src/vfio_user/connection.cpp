// Connection: the vfio-user instance of uds::Connection.
#include "vfio_user/connection.hpp"

#include "uds/connection_impl.hpp"

template class vhostd::uds::Connection<vhostd::vfio_user::SocketTraits>;
